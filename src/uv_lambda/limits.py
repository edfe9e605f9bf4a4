"""Lambda's size quotas, defined once for the build's checks, the local unpacker and deploy.

Imports nothing: the app-only rebuild's file checks (bundle/stage/sources.py) read it before anything
else is loaded.
"""

# A zip sent inline in the API call; a larger one must be uploaded to S3 first.
ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024
# Function code plus all its layers, unzipped.
UNZIPPED_LIMIT = 250 * 1024 * 1024
