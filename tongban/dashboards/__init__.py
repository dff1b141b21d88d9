"""Decision support (决策支持): rollup tables and the leadership's dashboards (issue 6)."""
