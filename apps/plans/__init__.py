"""Planning: optimization runs on workers now; scaling plans and approvals build on them."""
