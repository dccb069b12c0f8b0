"""What both packages use and neither owns: the user-error type, atomic file writes, the CLI
front end with its exit-code convention. Imports nothing of `converters` or `reproduce`."""
