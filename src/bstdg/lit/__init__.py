"""Lightning layer: module, callbacks."""
