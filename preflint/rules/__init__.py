"""Built-in rules, one module each. Every Rule subclass with a `code` in a module here is registered."""
