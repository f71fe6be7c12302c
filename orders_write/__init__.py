"""The write side: the Order aggregate, commands, handlers and the command API."""
