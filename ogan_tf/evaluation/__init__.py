"""How good a trained model is: SWD, reconstruction and code figures,
FID/KID with the network that makes them, reference statistics."""
