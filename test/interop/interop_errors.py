"""Exception classes shared by the Python interop peers.

A Python RPC client rebuilds a remote failure as one of these classes only when
its transport allows the module ``interop_errors`` (``allowed_remote_exmods``);
otherwise it raises ``oslo_messaging.RemoteError``. The module has no
dependencies so that any peer started from this directory can import it.
"""


class InteropError(Exception):
    """Custom error raised by ``py_rpc_server.py``'s ``raise_custom`` method.

    It carries a ``kwargs`` attribute, which oslo.messaging puts in the
    ``kwargs`` field of the failure it sends back; the client rebuilds the class
    as ``InteropError(*args, **kwargs)``. A peer that sends ``kwargs: {}`` (or
    none at all) is rebuilt just as well, since ``code`` is optional.
    """

    def __init__(self, message='', code=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.kwargs = {'code': code}
