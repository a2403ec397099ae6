"""Decision records: what the bot saw, which rules and norm figures it applied, and what it decided.

One JSON record per assessed application, written with its report by one function
(`writer.write_report_and_record`), sealed into a hash chain per output folder (`chain`), read
back by `explain` to re-derive the decision with the code and norm tables installed now. The
commands (`python -m bistand records ...`, `python -m bistand explain ...`) live in `cli`.
See docs/records.md.
"""
