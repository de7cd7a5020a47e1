// The merchant dashboard's one script: signing in with the wallet. Everything else is
// server-rendered pages and plain forms.
import { startSignIn } from "./signin";

startSignIn();
