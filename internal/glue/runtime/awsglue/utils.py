"""awsglue.utils as Glue Python shell jobs use it: getResolvedOptions reads the job's arguments."""

import argparse


def getResolvedOptions(args, options):
    """Returns the values of the named job arguments (--NAME VALUE in args) as a dict.

    As Glue's own: every named option is required, and a missing one ends the job with
    argparse's usage error; arguments that were not asked for are ignored. A name may be given
    with or without its leading dashes.
    """
    parser = argparse.ArgumentParser(prog=args[0] if args else "job")
    names = []
    for option in options:
        name = option.lstrip("-")
        names.append(name)
        parser.add_argument("--" + name, required=True)
    parsed, _ = parser.parse_known_args(args[1:])
    values = vars(parsed)
    return {name: values[name] for name in names}
