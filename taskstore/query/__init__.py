"""The query language of tasks.get_all and friends (query_edit §1), compiled to SQL on both dialects.

``run`` is the entry point (find_tasks, task_types); ``paths`` resolves field paths against the
whitelist, ``listfilter`` is the §1.4 algorithm as data, ``filters`` / ``ordering`` / ``paging`` /
``projection`` / ``text`` compile their parts of the request, ``sql`` holds what differs by dialect.
"""
