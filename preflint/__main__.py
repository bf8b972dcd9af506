from preflint.cli import run

run()
