"""TDengine 3.x cluster simulator for the membership provider's tests (taosAdapter REST + fake kube)."""

from tests.sim.cluster import SimCluster, Snapshot
from tests.sim.codes import SqlError
from tests.sim.faults import Faults
from tests.sim.kube import FakeKube, PodNotReady
from tests.sim.rest import RequestRecord

__all__ = ["FakeKube", "Faults", "PodNotReady", "RequestRecord", "SimCluster", "Snapshot", "SqlError"]
