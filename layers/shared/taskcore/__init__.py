"""Code shared by the scheduler and callback functions, shipped once as a Lambda layer."""
