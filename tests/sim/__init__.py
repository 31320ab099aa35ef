"""TDengine 3.x cluster simulator for the membership provider's tests (taosAdapter REST + fake kube).

It follows ../shared/reference/tdengine-admin.md (sections 13 and 14, the real-cluster observations, win) and
replays the real transcripts (tests/sim/test_sim_replay.py, test_sim_replay_moves.py). Vnodes go where
TDengine's placement score puts them (placement.py: it reproduces every placement the transcripts show);
`drop dnode` moves a dnode's vgroups in parallel, `redistribute vgroup` one member after another, each move a
fixed part plus a copy of the vgroup's `size_kb` (moves.py). Where it departs, and why:
- a move adds the new member then removes the old one; the copies of one transaction share one bandwidth
  (`copy_kb_per_second`), a model: the transcripts moved near-empty vnodes only;
- `information_schema.ins_disk_usage`'s columns are the real 3.3.7.5's (the differential test, tests/real/, which
  measures the simulator against the real server and lists the differences it keeps, `tests/real/known.py`); a
  vgroup's disk use is set by the test (`SimCluster.set_size`), writes do not grow it;
- `alter dnode <id> 'supportVnodes'` answers 281 as the community build does; `enterprise=True` lets it set
  a dnode's room (a benchmark uses that to measure the single-move minimum);
- a moved vgroup keeps its leader unless the leader leaves (which slot leads is not compared); the
  `vN_applied/committed` values are plausible, not modelled;
- `drop dnode` on the only mnode's dnode answers 936 before 819 (section 5's order; unobserved);
- an offline dnode with an mnode but no vnodes answers 1032 to a plain drop (section 5; section 13 is silent);
- while `create mnode` blocks the new mnode shows learner/creating (unobserved), then offline/ready for a
  settle time, then follower (observed);
- `information_schema.ins_databases` carries 5 of its ~30 columns (name and replica are faithful);
- not simulated: answers without an mnode majority, `GET /rest/login`, `create snode`, `show vnodes`,
  `kill transaction`, and the automatic 981 after repeated action failures (only the fault injects it);
- a pod started on a dropped dnode's PVC is Running but never Ready (the image's crash loop); its taosd
  still heartbeats, so a manual `create dnode` shows offline / `dnodeId not match` as observed;
- user data (data.py): writes and reads go through the vgroup leader; a vgroup whose leader's taosd stopped
  has none for `election_seconds`, then its lowest serving member leads (with a majority); meanwhile they
  fail with 0x090C "Sync leader is unreachable", a code from TDengine's error-code table (the reference is
  silent); tables land in vgroups round robin (TDengine hashes names); `ins_tables` lists user tables only;
- taosBenchmark (bench.py) is emulated in command-line mode for `FakeKube.exec_in_pod`; its output imitates
  the real tool's settings dump (password included) and summary lines, not their exact text.
"""

from tests.sim.cluster import SimCluster, Snapshot
from tests.sim.codes import SqlError
from tests.sim.faults import Faults
from tests.sim.kube import FakeKube, PodNotReady
from tests.sim.rest import RequestRecord

__all__ = ["FakeKube", "Faults", "PodNotReady", "RequestRecord", "SimCluster", "Snapshot", "SqlError"]
