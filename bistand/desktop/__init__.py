"""The bot's write-back through the case-management system's desktop client (pyautogui).

Chosen with `BISTAND_CASEMGMT_CLIENT=desktop`. Process logic stays in bistand.core; this package
only knows the client's screen: its windows, fields, keyboard shortcuts and status bar.
"""
