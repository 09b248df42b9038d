/* nn.c — placeholder, being written */
