"""Skatteverket: folkbokföring and arbetsgivardeklarationer for municipal officers (with TOTP)."""
