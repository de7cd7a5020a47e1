from cyphera.cli import app

app(prog_name="cyphera")
