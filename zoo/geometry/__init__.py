"""Soccer pitch geometry and the broadcast camera model of the SoccerNet calibration task."""
