"""Domain services: what handlers call; no Telegram or driver types."""

from __future__ import annotations

from dataclasses import dataclass

from core.services.autodelete import AutoDeleteService
from core.services.batch import BatchDeliveries
from core.services.broadcast import Broadcaster
from core.services.callbacks import CallbackCodec
from core.services.channel_index import ChannelIndexer
from core.services.channels import ChannelDirectory
from core.services.delivery import DeliveryService
from core.services.flags import FlagService
from core.services.groups import GroupService
from core.services.indexing import IndexingService
from core.services.links import LinkService
from core.services.log_channel import LogChannel
from core.services.metadata import MetadataService
from core.services.notices import Notices
from core.services.plans import PlanReminders
from core.services.prompts import PromptDecisions
from core.services.search import SearchService
from core.services.stats import StatsService
from core.services.subscription import SubscriptionService
from core.services.users import UserService
from core.traces import TraceStore
from core.utils.guards import Guards

__all__ = ["Services"]


@dataclass
class Services:
    """Everything a handler may call, built once by `app.build_app`; no settings, no clock."""

    users: UserService
    callbacks: CallbackCodec
    guards: Guards
    search: SearchService
    indexing: IndexingService
    delivery: DeliveryService
    auto_delete: AutoDeleteService
    subscription: SubscriptionService
    groups: GroupService
    stats: StatsService
    notices: Notices
    metadata: MetadataService
    channel_index: ChannelIndexer
    channels: ChannelDirectory
    plans: PlanReminders
    links: LinkService
    log_channel: LogChannel
    broadcasts: Broadcaster
    batches: BatchDeliveries
    traces: TraceStore
    flags: FlagService
    prompts: PromptDecisions
