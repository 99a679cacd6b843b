class CustomException(Exception):
    message: str

    def __init__(self):
        self.message = "Some custom exception was raised."


def handler(event, context):
    raise CustomException()
