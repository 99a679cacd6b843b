import sys

print("leaving at init")
sys.exit(3)


def handler(event, context):
    return "never"
