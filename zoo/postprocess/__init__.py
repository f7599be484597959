"""What turns model outputs into answers: NMS, re-ranking, trackers, camera solvers, voting."""
