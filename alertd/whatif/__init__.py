"""What-if replays for the noise review: what a change to a rule or to the routing would
have done to the pages of a period, computed by replaying the recorded history."""
