"""Helpers over Gaib's backup storage (local folder or S3 + DynamoDB on moto): adapter pairs for the
contract tests (``backends``), raw access past Gaib (``raw``) and writers with a settable clock
(``writer``)."""
