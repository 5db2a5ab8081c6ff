"""Bridges to other SNN tools: NIR graphs of exported networks and their norse runner
(the optional consumers are imported only inside the functions that use them)."""
