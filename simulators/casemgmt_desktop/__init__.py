"""The case-management system as a thick desktop client (Tkinter) over the server's JSON API.

Many municipalities reach their case-management system through a Windows client on Citrix: no
DOM, only a screen, a keyboard and a clipboard. This client plays that part for the bot's
desktop write-back (bistand.desktop). It never imports the bot.
"""
