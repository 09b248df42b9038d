/* targets.c — placeholder, being written */
