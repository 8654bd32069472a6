"""The `tiersync` command line: one small module per command or command group.

main.py builds the Typer app and registers every command; options.py defines, once, the node
configuration options every command accepts; common.py holds the output and error helpers.
Adding a command: write a module with a function decorated by `options.node_command()` (or a
`typer.Typer()` group of them) and register it in main.py.
"""
