"""Rendering a plan and its evidence: self-contained HTML (plotly), Markdown, agent configs."""
