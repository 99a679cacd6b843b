"""Stepline's stand-in for the awsglue package that AWS Glue puts on a Python shell job's path.

Only what Python shell jobs use exists here: awsglue.utils.getResolvedOptions. Spark's
GlueContext and DynamicFrames belong to glueetl jobs, which run under a configured Spark.
"""
