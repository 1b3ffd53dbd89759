"""The Propagate dock: carry the shown frame's label to its neighbours and accept the proposals."""
