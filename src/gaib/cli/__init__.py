"""The command-line interface: parse flags, call one service, render the result."""
