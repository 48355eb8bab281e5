"""Domain services: what handlers call; no Telegram or driver types."""

from __future__ import annotations

from dataclasses import dataclass

from core.traces import TraceStore
from core.utils.guards import Guards
from services.autodelete import AutoDeleteService
from services.batch import BatchDeliveries
from services.broadcast import Broadcaster
from services.callbacks import CallbackCodec
from services.channel_index import ChannelIndexer
from services.channels import ChannelDirectory
from services.delivery import DeliveryService
from services.flags import FlagService
from services.groups import GroupService
from services.indexing import IndexingService
from services.links import LinkService
from services.log_channel import LogChannel
from services.metadata import MetadataService
from services.notices import Notices
from services.plans import PlanReminders
from services.prompts import PromptDecisions
from services.search import SearchService
from services.stats import StatsService
from services.subscription import SubscriptionService
from services.users import UserService

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
