"""One thin layer per AWS service; a run shares one ``AwsClients``."""
