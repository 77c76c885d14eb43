"""Local emulator of the OVHcloud Key Management Service (OKMS) APIs."""
