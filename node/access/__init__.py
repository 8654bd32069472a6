"""Operator access (issue 12): users and roles, tokens and sessions, the gate every operator
request passes, masking's reveal, the login page and the `tiersync user` commands' service.
Records and the kernel know nothing of it: the gate puts a `node.principal.Principal` on the
request, and routes read it through `node.deps.PrincipalDep`."""
