"""The callback function: EventBridge Scheduler invokes it with a REST proxy event; it runs one task once."""
