"""Install: the locked packages for the target, from wheels or source builds."""
