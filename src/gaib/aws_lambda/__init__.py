"""Code that runs in AWS Lambda. Each module here needs only the standard library and the runtime's boto3."""
