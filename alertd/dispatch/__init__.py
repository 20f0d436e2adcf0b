"""Dispatch: the routing tree, time intervals and inhibition, with Alertmanager's semantics.

`route.Route` compiles the `route` section and finds the routes (and so the receivers) that
take an alert; `timeintervals.TimeIntervals` says which named intervals contain a time;
`inhibit.Inhibitor` finds the firing alerts that inhibit another.
"""
