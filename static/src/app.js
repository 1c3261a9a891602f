// Behaviour every page shares: copy buttons, confirmation before destructive forms, and
// confirmations that leave by themselves.
import { installConfirmations, installCopyButtons } from "./common/forms.js";
import { dismissConfirmations } from "./common/messages.js";

installCopyButtons(document);
installConfirmations(document);
dismissConfirmations(document);
