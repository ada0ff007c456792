/** @odoo-module **/
/**
 * The invoice form updates itself when Invoice Courier changes the invoice.
 *
 * The server sends "invoice_courier/changed" on the invoice's bus subchannel
 * whenever a send is queued, reported (transmitted, failed...), gets a tracking
 * event (delivered, opened, bounced...) or the customer views the invoice
 * (models/account_move.py, _courier_notify_changed). A form showing that
 * invoice joins the channel "invoice_courier.move_<id>" (the server lets only
 * users who may read the invoice in) and, on the notification, reloads its
 * record: the badge, the Email history and the chatter.
 * A form with unsaved changes is left alone; its save reloads it.
 * The same code runs on Odoo 18.0 and 19.0 (same bus service and form API).
 */
import { onWillUnmount, useEffect } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { patch } from "@web/core/utils/patch";
import { FormController } from "@web/views/form/form_controller";

export const COURIER_CHANNEL_PREFIX = "invoice_courier.move_";
export const COURIER_NOTIFICATION = "invoice_courier/changed";

patch(FormController.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.resModel !== "account.move") {
            return;
        }
        const bus = useService("bus_service");
        const onChanged = (payload) => this.courierReloadIfShown(payload);
        bus.subscribe(COURIER_NOTIFICATION, onChanged);
        onWillUnmount(() => bus.unsubscribe(COURIER_NOTIFICATION, onChanged));
        useEffect(
            (resId) => {
                if (!resId) {
                    return;
                }
                const channel = `${COURIER_CHANNEL_PREFIX}${resId}`;
                bus.addChannel(channel);
                return () => bus.deleteChannel(channel);
            },
            () => [this.model.root?.resId]
        );
    },

    async courierReloadIfShown({ move_id }) {
        const root = this.model.root;
        if (!root || root.resId !== move_id || (await root.isDirty())) {
            return;
        }
        // As a save does: the chatter is told to fetch its messages and activities
        // again, then the record reloads through the model's mutex (never racing
        // another load, such as the one that follows a closing dialog).
        this.onWillLoadRoot(root.config);
        await root.load();
    },
});
