"""RULES.md as code: one module per section, one small function per rule.

household (§1), norm_rules (§2), costs (§3), incomes (§4), checks (§5), result (§6);
`bistand.core.engine.assess` composes them. docs/rules.md maps each rule to its function.
"""
