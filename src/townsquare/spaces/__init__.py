"""Live audio rooms: room state and roles, listener presence, reactions and the audio pipeline."""
