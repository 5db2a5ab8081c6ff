"""bstdg."""
