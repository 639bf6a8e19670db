"""The project's own Jupyter kernel: the interpreter running the build, whatever kernelspecs exist."""
from __future__ import annotations

import sys

import jupyter_client
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets import Unicode, default


def project_kernel_spec() -> KernelSpec:
    """The kernel of the interpreter running the build, whatever kernelspecs are (not) installed.

    A notebook saved elsewhere names a kernel (``python3``, ``conda-env-x``) that may not exist
    here; looking it up would fail with NoSuchKernel or run another environment's Python.
    The metadata (e.g. CurveZMQ support) is what the installed ipykernel declares for itself.
    """
    from ipykernel.kernelspec import get_kernel_dict

    declared = get_kernel_dict()
    return KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python (kpi)",
        language="python",
        env={
            # the inline backend embeds PNG figures even if the caller's shell sets MPLBACKEND=Agg
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            # silences the debugger's frozen-modules warning that would clutter the build's stderr
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        },
        metadata=declared.get("metadata", {}),
        kernel_protocol_version=declared.get("kernel_protocol_version", ""),
    )


class ProjectKernelSpecManager(KernelSpecManager):
    """Answers every kernel name with the project's own kernel: no lookup, so no NoSuchKernel."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return project_kernel_spec()


class ProjectKernelManager(jupyter_client.AsyncKernelManager):
    """nbclient's kernel manager, started from ``ProjectKernelSpecManager``.

    ``kernel_log`` (set through the client's traitlets config) receives the kernel process's own
    stderr: ipykernel's log lines (it reports the interrupt sent at every shutdown) and whatever a
    crashing native library prints stay with the executed notebook instead of the build's terminal.
    """

    kernel_log = Unicode("", help="file for the kernel process's stderr; empty: inherit").tag(config=True)

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ProjectKernelSpecManager()

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        # encrypted loopback when libzmq can, which also spares every kernel's plain-TCP warning on stderr
        import zmq

        return "auto" if zmq.has("curve") else "disabled"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        if not self.kernel_log:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        with open(self.kernel_log, "ab") as log:  # the child holds its own copy once started
            return await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": log})

    @property
    def ipykernel(self) -> bool:
        # it is one, whatever its name: nbclient then keeps IPython's history in memory, so
        # parallel kernels do not contend for one history database
        return True
