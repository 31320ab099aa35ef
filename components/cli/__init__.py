"""The operator's command line, `python -m components <command> --stack NAME`, on top of `automation.py`.

`app.py` (main: dispatch and exit codes), `parser.py` (arguments and --help), `commands.py` (one function per
command), `preflight.py` (what can be checked offline, reported at once), `output.py` (what is printed),
`stacks.py` (CI stack selection), `runtime.py` (what the commands touch outside themselves, and the exit codes).
"""
