"""HTTP routes, thin: parse, authorise, call a query or a command, map errors."""
