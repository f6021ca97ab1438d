"""Project a model onto hardware we do not own: a roofline device model per device, calibrated on
published figures, with an error band from leave-one-model-out validation."""
