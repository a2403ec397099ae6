"""Arbetsförmedlingen: job-seeker registration status for municipal officers."""
